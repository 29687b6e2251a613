"""The operations layer: requests in, results out, no Qt.

``messages`` defines the frozen requests and results, ``operations.run`` computes them
(TensorFlow is imported only when an operation needs it; ``convviz_gui.figures`` draws
any result), and ``engine_process`` runs operations in a child process for the window.
"""
