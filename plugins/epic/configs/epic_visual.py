# TIM on EPIC-KITCHENS-100 alone: visual data, visual features only (original README: data and model modality
# visual, include_verb_noun; the released epic_visual_only model).
# the engine's shared parts (tim_bench_plugins/configs/_base_/), then this benchmark's dataset defaults
_base_ = ["../../configs/_base_/default_runtime.py", "../../configs/_base_/tim_model.py",
          "../config_defaults.py"]

# Actions as in epic_av.py: the released epic_visual_only checkpoint needs the original's action mapping:
#   --cfg-options dataset.action_vocabulary=EPIC_100_train.pkl dataset.num_actions=3806 dataset.trust_pickle=True
dataset = dict(type="EPIC100", action_vocabulary=None, num_actions=None)
features = dict(
    visual=dict(type="NpyFeatures", folder="features/visual", intervals="features/visual/intervals_{split}.csv",
                dim=1024),
)
evaluator = dict(type="EPIC100Metrics")
writers = [dict(type="EPIC100ActionSubmission", timestamps="epic-kitchens-100/EPIC_100_test_timestamps.csv")]
