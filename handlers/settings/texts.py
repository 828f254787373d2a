"""What the channel commands say (`channel set admin`, `channel id`), in one place."""

from __future__ import annotations

ALLOWED = {"slack": "a Slack channel id such as C0123ABCD (the channel's About tab), `here` or "
                    "`none`",
           "teams": "a Teams channel conversation id (19:…@thread.tacv2), `here` or `none`"}
NO_CHANNELS = ("The console has no channels: certificate reminders reach each certificate admin "
               "there privately. Set the admin channel from Slack or Teams.")
NO_CHANNELS_TITLE = "No channels here"
NOT_A_CHANNEL_TITLE = "Not a channel"
HERE_NOT_TEAMS_CHANNEL = ("`here` is not a Teams channel: type the command in the channel, or give "
                          "its id ({allowed}).")
HERE_IS_SLACK_DM = ("`here` is a direct message, not a channel: type the command in the channel, "
                    "or give {allowed}.")
SLACK_NAME_NOT_ID = ("Slack gave deskhand the channel's name ({raw}), not its id: type "
                     "`channel set admin here` in that channel, or give its id such as C0123ABCD "
                     "(the channel's About tab).")
SLACK_NAME_TITLE = "Which channel?"
BAD_CHANNEL = "The {platform} admin channel must be {allowed}, not `{raw}`. Nothing was changed."
BAD_CHANNEL_TITLE = "Check the channel"
ADMIN_SET_TITLE = "Admin channel set"
ADMIN_SET = ("Certificate expiry reminders for this platform go to this channel; invite deskhand "
             "there.")
ADMIN_CLEARED = "No admin channel: each certificate admin is told privately."

# `channel id`: what an admin pastes into the approval and admin channel settings.
ID_NO_CHANNELS = ("The console has no channels. Type `channel id` in the Slack or Teams channel "
                  "whose id you need.")
ID_NOT_CHANNEL = {"slack": "This is a direct message, not a channel: approvals and reminders go to "
                           "channels. Type `channel id` in the channel whose id you need.",
                  "teams": "This is a {kind}, not a team channel: approvals and reminders go to "
                           "channels. @mention deskhand with `channel id` in the channel whose id "
                           "you need."}
ID_TITLE = "This channel's id"
ID_FIELD = {"slack": "Slack channel id", "teams": "Teams conversation id"}
ID_USE = ("For approvals: `settings set approval_channel_{platform}={channel}`. For certificate "
          "expiry reminders: `channel set admin here`, typed in this channel.")
ID_INVITE = {"slack": "Approval cards in a private channel need deskhand invited there.",
             "teams": "deskhand posts there only while the app stays installed in this team."}
