--TEST--
flush() sends output as the script goes; the response is whole in the end
--FILE--
<?php
for ($i = 0; $i < 5; $i++) {
    echo "part $i\n";
    flush();
    usleep(20000);
}
?>
--EXPECT--
part 0
part 1
part 2
part 3
part 4
