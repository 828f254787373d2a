"""What the inventory capability says."""

SUMMARY_SYNC = "Sync the device inventory from TeamViewer, Workspace ONE and 1E now."
TITLE = "Inventory sync"
BUSY = ("A sync of this workspace's inventory is already running (the scheduled one, or another "
        "administrator's). Its changes show in `devices` when it ends; try again in a few minutes.")
NO_SOURCES = ("No device source is set up for this workspace. Set up TeamViewer, Workspace ONE or "
              "1E with `integrations set ...`, then run `devices sync` again.")
COLUMNS = ("source", "reported", "added", "updated", "moved", "not reported")
FAILED = ("{source} failed: {reason}. The devices it listed before that were merged; none of its "
          "group changes were applied.")
RETIRED = "{n} device(s) no source has reported for {days} days were retired (hidden from `devices`)."
RETIRE_SKIPPED = ("Nobody was retired: a source failed, and its devices may only look unreported. "
                  "The next complete sync retires what is due.")
GROUPS_FROM = "Management groups follow {source}."
GROUPS_OFF = "Management groups are not synced (inventory_group_source is none)."
LEASE_LOST = ("this sync paused longer than its lease and another sync of this workspace took "
              "over; it stopped there (ref {ref})")
