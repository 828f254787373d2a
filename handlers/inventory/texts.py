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
RENAMED = ("{source} renamed group {old} to {new}: so did deskhand, with the {scopes} role "
           "assignment(s) scoped to it.")
RENAME_TAKEN = ("{source} renamed group {old} to {new}, but deskhand has another group called {new}: "
                "{old} keeps its name. Rename that group, or map the vendor's name onto one "
                "(`settings set inventory_group_map`).")
UNFIT = ("{source}: {skipped} device(s) could not be kept and {shortened} were kept with a name "
         "cut to 200 characters or an over-long FQDN, serial or email left out: {examples}. "
         "The log has them all (ref {ref}).")

# `deskhand devices import devices.csv` (handlers/inventory/import_cli.py)
IMPORT_COLUMNS = "name, and any of fqdn, serial, os (or platform), group, owner"
IMPORT_EMPTY = f"the file is empty: its first line must name the columns: {IMPORT_COLUMNS}"
IMPORT_DELIMITER = ("the first line is one column, {header!r}: deskhand reads comma-separated "
                    "values; save the file as CSV UTF-8 (comma delimited)")
IMPORT_HEADER = ("the first line names the columns {header}; it must name "
                 f"{IMPORT_COLUMNS}, once each")
IMPORT_NOT_CSV = ("line {line} cannot be read as CSV ({error}); quote a value that holds commas "
                  "or quotes (\"a, b\", \"say \"\"hi\"\"\"), and save the file as CSV UTF-8")
IMPORT_TOO_MANY = "the file has more than {n} devices; split it"
IMPORT_FIELDS = "more fields than the {n} columns (quote values that hold commas)"
IMPORT_NO_NAME = "the name is empty; every device needs one"
IMPORT_TOO_LONG = "{column} is {n} characters or has control characters; at most {width} printable"
IMPORT_FQDN = ("fqdn {value!r} is not a host name: letters, digits, dashes and dots, at most "
               "{width} characters")
IMPORT_OWNER = "owner {value!r} is not an email address"
IMPORT_TWICE = "{column} {value} is also on line {other}; each device once"
IMPORT_BAD_ROWS = "{file} has {n} bad row(s); nothing was imported:"
IMPORT_BUSY = ("an inventory sync of tenant {tenant} is running; import when it ends (a few "
               "minutes)")
IMPORT_DONE = "imported into tenant {tenant}: {summary}"
IMPORT_DRY = "dry run for tenant {tenant}: {summary}; nothing was written"
IMPORT_GROUPS_NEW = "new management group(s): {names}"
IMPORT_GROUPS_VENDOR = ("{n} device(s) of the file are also reported by {source}, which decides "
                        "their group (inventory_group_source): their group cell was not applied")
IMPORT_MISSING_KEPT = ("{n} device(s) imported before are not in this file: kept (--retire-missing "
                       "retires the ones no vendor reports)")
IMPORT_MISSING_GONE = ("{n} device(s) imported before are not in this file: no longer imported; "
                       "{retired} no vendor reports {were} retired")
IMPORT_SUMMARY = ("{added} device(s) {add}, {updated} {update}, {unchanged} unchanged; {moved} "
                  "{move} group; {groups} management group(s) {create}")
IMPORT_VERBS = {"add": "added", "update": "updated", "move": "changed", "create": "created"}
IMPORT_VERBS_DRY = {"add": "to add", "update": "to update", "move": "to change",
                    "create": "to create"}
