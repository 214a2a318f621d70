--TEST--
Programs a script starts run as the vhost's user too
--FILE--
<?php echo trim(shell_exec('id -un')), "\n";
--EXPECT--
itkp-alice
