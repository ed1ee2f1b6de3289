"""Policies: lerobot checkpoints loaded and run natively in PyTorch, and the step runner.

Importing this package is cheap; torch loads when a policy does.
"""

from core.policy.features import FeatureMapping, match_features
from core.policy.loading import load_policy
from core.policy.policy import Policy
from core.policy.runner import PolicyRunner
from core.step import OutputStats

__all__ = [
    "FeatureMapping",
    "OutputStats",
    "Policy",
    "PolicyRunner",
    "load_policy",
    "match_features",
]
