"""IKD: activating the digital ID (Identitas Kependudukan Digital) at the counter."""
