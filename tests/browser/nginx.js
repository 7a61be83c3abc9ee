// SPDX-License-Identifier: MIT
'use strict';
module.exports.run = async function (browser, t) {
	t.skip('the page through nginx with its password', 'pending: nginx pieces not wired yet');
};
