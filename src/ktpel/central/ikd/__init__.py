"""Central's register of IKD (digital ID) activations per office: the blanks the offices did not spend."""
