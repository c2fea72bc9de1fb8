"""From the ledger to the public: consolidation, the report, approval, the board."""
