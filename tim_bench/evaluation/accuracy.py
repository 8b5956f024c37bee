"""Accuracy helpers, public in ``tim_bench_registry.scores``; named here for engine modules."""
from tim_bench_registry.scores import mean_class_accuracy, rank_classes, softmax, topk_accuracy, topk_correct

__all__ = ["mean_class_accuracy", "rank_classes", "softmax", "topk_accuracy", "topk_correct"]
