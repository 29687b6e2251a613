"""Qt widgets of the ConvViz window: thin views that call the engine through workers."""
