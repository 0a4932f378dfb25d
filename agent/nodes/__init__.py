"""One module per step of the graph; each exports one node function."""
