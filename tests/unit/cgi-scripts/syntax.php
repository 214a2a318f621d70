<?php
echo "missing semicolon"
