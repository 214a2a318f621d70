#!/bin/sh
# Silent forever, with a child of its own in the same process group.
echo $$ > "$PID_FILE"
sleep 30 &
sleep 30
