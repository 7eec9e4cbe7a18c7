"""``RoIAlign`` for import only: building or calling it fails with one clear line."""


class RoIAlign:
    def __init__(self, *args, **kwargs) -> None:
        raise RuntimeError("torchvision.ops.RoIAlign is a stand-in in the pytorchvideo reference harness "
                           "(classification never uses it); detection heads cannot be built here")
