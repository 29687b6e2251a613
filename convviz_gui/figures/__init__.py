"""Presentation: matplotlib figures, colour maps and reports drawn from plain results.

Above the engine (which computes and never draws) and free of TensorFlow: the window
draws these figures without it. ``registry.figure_for`` draws any operation's result;
each subject module registers its own view next to its figure builder.
"""
