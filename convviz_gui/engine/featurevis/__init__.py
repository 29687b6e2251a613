"""The "clear" feature-visualization style, after Olah et al., "Feature Visualization",
Distill 2017 (the Lucid library): a Fourier-parameterized, colour-decorrelated image kept in
the model's input range, optimized with Adam under random transformations.

``settings`` is plain data (the window imports it); the other modules load TensorFlow and
are imported only by ``visualize_filters`` in the engine process.
"""
