#!/bin/sh
# Output without end, deaf to SIGPIPE, with a child of its own in the
# process group: only killing the whole group ends them both.
echo $$ > "$PID_FILE"
trap '' PIPE
sleep 30 &
printf 'Content-Type: text/plain\n\n'
while :; do
    echo 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' || :
done
