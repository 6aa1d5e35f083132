#!/usr/bin/env node
require('../out/src/cli/cmt.js');
