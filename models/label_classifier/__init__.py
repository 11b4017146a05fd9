"""The fine-tuned character tagger for row and column labels (service.labels.LabelClassifier)."""
from models.label_classifier.classifier import Span, TokenLabelClassifier

__all__ = ["Span", "TokenLabelClassifier"]
