"""Office counter recording (perekaman): capture, quality feedback, approval, receipt and outbox packet."""
