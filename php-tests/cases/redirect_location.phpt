--TEST--
header('Location: ...') makes a 302 with the location
--FILE--
<?php
header('Location: http://alice.phpt/elsewhere');
echo "moved\n";
?>
--EXPECT--
moved
--EXPECTHEADERS--
Location: http://alice.phpt/elsewhere
