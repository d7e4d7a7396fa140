"""The office's half of sync: outbox, agent, outage state and banner, the sync page and `ktpel office sync`."""
