# Ships in its benchmark's plugin package as tim_bench_plugins/perception_test/configs/extract/perception_omnivore.py;
# this file lets a clone use the path. Installed: tim-bench extract-features perception_omnivore
_base_ = ["../../plugins/perception_test/configs/extract/perception_omnivore.py"]
