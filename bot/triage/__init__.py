"""Complaint triage: which category (and so which responsible unit) a citizen's complaint belongs to.

The classifier is trained from the Rasa NLU complaint examples
(`nlu_data/nlu/complaints/<category>.yml`) and cached
on disk, so the service does not retrain at every start. See `bot.triage.model.load_classifier`.
"""

from bot.triage.categories import CATEGORY_CODES, CATEGORY_LABELS, LOW_CONFIDENCE_THRESHOLD
from bot.triage.model import Prediction, TriageClassifier, load_classifier

__all__ = [
    "CATEGORY_CODES",
    "CATEGORY_LABELS",
    "LOW_CONFIDENCE_THRESHOLD",
    "Prediction",
    "TriageClassifier",
    "load_classifier",
]
