"""Stand-in for torchvision in the pytorchvideo reference environment, for import only.

pytorchvideo 0.1.5's ``models/head.py`` imports ``torchvision.ops.RoIAlign`` at module level; only its
detection head uses it, and classification never does.  A current torchvision cannot be installed
beside torch 2.13 here, so the harness puts this folder first on ``sys.path``.
"""
