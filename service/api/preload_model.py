"""The fork server's imports when the label classifier model is used: service.api.preload plus torch and
transformers (through the classifier module)."""
import service.api.preload  # noqa: F401  (first: it sets the thread counts)
import models.label_classifier.classifier  # noqa: E402,F401
