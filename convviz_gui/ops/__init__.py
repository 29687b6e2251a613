"""The operations layer: requests in, results out, no Qt.

One module per family of operations (Anki's ``aqt/operations`` is the model): ``model``
(open a model or an image, model input, predict, save settings), ``activations``,
``filters``, ``explain`` (``ExplainSpec``, one image, one video frame), ``compare``
(grids and several images), ``export`` (``FigureStyle``, figures to files, kernels),
``report``, ``sanity`` (does a map depend on the model's weights) and ``dataset`` (what a
model learned across a folder; ``dataset_ray`` scans it on a Ray cluster when the ``ray``
extra is installed). Each holds its frozen,
picklable requests and results (plain data) and the operation of each request, registered
with ``registry.operation``; ``registry.run`` computes any request (TensorFlow is imported
only when an operation needs it; ``convviz_gui.figures`` draws any result) and
``registry.to_json`` summarizes a result. ``base`` holds the model and image references,
``context`` the opened models and images, and ``engine_process`` runs the operations in a
child process for the window.
"""
