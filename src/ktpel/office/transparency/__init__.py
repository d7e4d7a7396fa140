"""The public board: today's blank stock, the print queue and the wait, published against extortion."""
