# Ships in its benchmark's plugin package as tim_bench_plugins/perception_test/configs/perception_av.py;
# this file lets a clone use the path. Installed: tim-bench run perception_av
_base_ = ["../plugins/perception_test/configs/perception_av.py"]
