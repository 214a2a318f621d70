--TEST--
A SKIPIF that says skip is a SKIP with its reason
--SKIPIF--
<?php if (PHP_MAJOR_VERSION < 5) die('skip too old'); ?>
--FILE--
<?php echo PHP_MAJOR_VERSION >= 8 ? "modern\n" : "old\n";
--EXPECT--
modern
