# Ships in its benchmark's plugin package as tim_bench_plugins/epic/configs/extract/epic_sounds_asf.py;
# this file lets a clone use the path. Installed: tim-bench extract-features epic_sounds_asf
_base_ = ["../../plugins/epic/configs/extract/epic_sounds_asf.py"]
