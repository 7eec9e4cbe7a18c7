"""Stand-in for detectron2 in the PySlowFast reference harness, for import only: PySlowFast's
``head_helper`` imports ``detectron2.layers.ROIAlign`` for its detection (AVA) heads, which
classification never builds."""
