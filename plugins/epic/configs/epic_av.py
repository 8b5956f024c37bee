# TIM on EPIC-KITCHENS-100 (visual stream: verb, noun, action) and EPIC-Sounds (audio stream: interaction) jointly,
# reading visual (1024-d) and audio (Auditory SlowFast, 2304-d) features (original README: data and model modality
# audio_visual, include_verb_noun, lambda_audio 0.01, every other argument at the parser defaults).
# An unlabelled test split (the challenge timestamps) gets both challenge submission zips instead of metrics.
# the engine's shared parts (tim_bench_plugins/configs/_base_/), then this benchmark's dataset defaults
_base_ = ["../../configs/_base_/default_runtime.py", "../../configs/_base_/tim_model.py",
          "../config_defaults.py"]

# Actions: by default the (verb, noun) pairs of the training file. The released checkpoint numbers 3806 actions by the
# original's own mapping (the action_class column of its annotation pickles); to load it, give that file:
#   --cfg-options dataset.0.action_vocabulary=EPIC_100_train.pkl dataset.0.num_actions=3806 dataset.0.trust_pickle=True
# (see docs/original-tim.md, "EPIC action vocabulary").
dataset = [dict(type="EPIC100", action_vocabulary=None, num_actions=None), dict(type="EPICSounds")]
features = dict(
    visual=dict(type="NpyFeatures", folder="features/visual", intervals="features/visual/intervals_{split}.csv",
                dim=1024),
    audio=dict(type="NpyFeatures", folder="features/audio", intervals="features/audio/intervals_{split}.csv",
               dim=2304),
)
loss = dict(stream_weights=dict(visual=1.0, audio=0.01))
evaluator = [dict(type="EPIC100Metrics"), dict(type="EPICSoundsMetrics")]
# every test segment of the official timestamps files must be in the submissions (paths under data_root)
writers = [dict(type="EPIC100ActionSubmission", timestamps="epic-kitchens-100/EPIC_100_test_timestamps.csv"),
           dict(type="EPICSoundsSubmission", t_mod=2,
                timestamps="epic-sounds/EPIC_Sounds_recognition_test_timestamps.csv")]
