"""Federation (spec §7): mirroring peers' logs, witnessing, checkpoint push, fork evidence."""
