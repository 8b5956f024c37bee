# TIM on EPIC-Sounds alone: audio data, audio features only (original README: data and model modality audio,
# lambda_audio at its default 1.0).
# the engine's shared parts (tim_bench_plugins/configs/_base_/), then this benchmark's dataset defaults
_base_ = ["../../configs/_base_/default_runtime.py", "../../configs/_base_/tim_model.py",
          "../config_defaults.py"]

dataset = dict(type="EPICSounds")
features = dict(
    audio=dict(type="NpyFeatures", folder="features/audio", intervals="features/audio/intervals_{split}.csv",
               dim=2304),
)
evaluator = dict(type="EPICSoundsMetrics")
writers = [dict(type="EPICSoundsSubmission", t_mod=0,
                timestamps="epic-sounds/EPIC_Sounds_recognition_test_timestamps.csv")]
