"""``ROIAlign`` for import only: building it fails with one clear line."""


class ROIAlign:
    def __init__(self, *args, **kwargs) -> None:
        raise RuntimeError("detectron2.layers.ROIAlign is a stand-in in the PySlowFast reference harness "
                           "(classification never uses it); detection heads cannot be built here")
