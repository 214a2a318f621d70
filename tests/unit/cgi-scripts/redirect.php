<?php
header("Location: http://x/");
