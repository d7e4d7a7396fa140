"""Mobile recording kit (jemput bola): records offline on its own SQLite, syncs into its home office."""
