--TEST--
EXPECTF placeholders
--FILE--
<?php
printf("%d %x %.3f %s %c\n", 42, 255, 3.14159, "word", 65);
echo "free text: ", str_repeat('z', 3), "\n", "multi\nline\n";
?>
--EXPECTF--
%i %x %f %s %c
free text: %s
%a
