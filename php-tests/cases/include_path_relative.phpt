--TEST--
include and require find files beside the script
--FILE--
<?php
file_put_contents(__DIR__ . '/helper.inc', '<?php return "from helper";');
echo require __DIR__ . '/helper.inc', "\n";
chdir(__DIR__);
echo include 'helper.inc', "\n";
?>
--EXPECT--
from helper
from helper
