# Perception Test: action segments (visual, 63 classes) and sound segments (audio, 17 classes) from the
# official annotation JSON (all_train.json, all_valid.json).
data_root = "data/perception_test"  # folder with the annotation JSON files and the feature folders
dataset = dict(type="PerceptionTest", invalid_segments="error")
evaluator = dict(type="PerceptionMetrics", main_metric="action_top1")
