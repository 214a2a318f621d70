--TEST--
error_log() goes to the log, not to the client
--FILE--
<?php
error_log('a line for the log only');
echo "done\n";
?>
--EXPECT--
done
