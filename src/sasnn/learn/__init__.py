"""Stage 3, learning: the one preprocessing function, the networks, the training loop,
evaluation and calibration, the feature-space novelty density, and explanations
(filters, feature maps, saliency).

May import :mod:`sasnn.simulate` and :mod:`sasnn.io`, nothing above them.
"""
