"""The fork server's imports when the label classifier model is used: service.api.preload plus the classifier
module (onnxruntime and numpy; torch only with the model-torch backend)."""
import service.api.preload  # noqa: F401  (first: it sets the thread counts)
import models.label_classifier.classifier  # noqa: E402,F401
