# Ships in its benchmark's plugin package as tim_bench_plugins/ave/configs/ave_omnivore_asf.py;
# this file lets a clone use the path. Installed: tim-bench run ave_omnivore_asf
_base_ = ["../plugins/ave/configs/ave_omnivore_asf.py"]
