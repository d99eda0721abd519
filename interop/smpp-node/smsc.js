#!/usr/bin/env node
// An SMSC built on node-smpp, an SMPP 3.4 implementation izin did not write,
// so that channels/smpp/interop_test.go can prove izin's ESME against a peer
// with its own reading of the spec.
//
//   node smsc.js [port]        port from argv, else $SMSC_PORT, else 0
//
// Credentials: $SMSC_SYSTEM_ID (default "izin"), $SMSC_PASSWORD ("secret").
//
// stdout, one line each: first the bound port as a bare number, then one
// JSON object per event: bind, submit_sm, enquire_link, unbind,
// deliver_sm_resp, data_sm_resp, enquire_link_resp, close, error, refused.
//
// stdin, one JSON object per line:
//   {"id":"x","from":"905321234567","to":"3338","data_coding":0,"esm_class":0,
//    "short_message_hex":"..."}            deliver_sm with these octets
//   {"id":"x",...,"text":"RET ACME","udh_hex":"03250101"}
//                                           deliver_sm that node-smpp encodes
//   optional on both: "receipted_message_id", "message_state" (TLVs) and
//   "message_payload_hex" (the message_payload TLV)
//   {"id":"x","cmd":"data_sm",...}          data_sm, its octets in message_payload_hex
//   {"id":"x","cmd":"enquire_link"}         enquire_link to the ESME
// Each prints the response's command_status with the same id.
// End of stdin closes the server and exits 0.
'use strict';

const readline = require('readline');
const smpp = require('smpp');

const port = Number(process.argv[2] || process.env.SMSC_PORT || 0);
const systemID = process.env.SMSC_SYSTEM_ID || 'izin';
const password = process.env.SMSC_PASSWORD || 'secret';

function emit(obj) {
	process.stdout.write(JSON.stringify(obj) + '\n');
}

// node-smpp decodes short_message and message_payload into text as it reads
// them. Keep submit_sm's octets raw, so that the test compares bytes, and
// decode a copy with node-smpp's own filter as node_text: how this
// independent implementation reads what izin sent.
const textFilter = smpp.filters.message;
const raw = {encode: (v) => v, decode: (v) => v};
smpp.commands.submit_sm.params.short_message.filter = raw;
smpp.tlvs.message_payload.filter = raw;

function nodeText(p, octets) {
	try {
		const d = textFilter.decode.call({data_coding: p.data_coding, esm_class: p.esm_class}, octets);
		return typeof d.message === 'string' ? d.message : null;
	} catch (e) {
		return null;
	}
}

const hex = (b) => (Buffer.isBuffer(b) ? b.toString('hex') : '');

let delivering = null; // the last session bound as receiver or transceiver
let nextMessageID = 1;

const server = smpp.createServer(function(session) {
	let bound = false;

	function bind(p) {
		let status = smpp.ESME_ROK;
		if (bound) {
			status = smpp.ESME_RALYBND;
		} else if (p.system_id !== systemID) {
			status = smpp.ESME_RINVSYSID;
		} else if (p.password !== password) {
			status = smpp.ESME_RINVPASWD;
		}
		emit({event: 'bind', command: p.command, system_id: p.system_id,
			interface_version: p.interface_version, status: status});
		session.send(p.response({command_status: status, system_id: 'node-smpp'}));
		if (status !== smpp.ESME_ROK) {
			return;
		}
		bound = true;
		if (p.command !== 'bind_transmitter') {
			delivering = session;
		}
	}
	session.on('bind_transceiver', bind);
	session.on('bind_receiver', bind);
	session.on('bind_transmitter', bind);

	session.on('submit_sm', function(p) {
		if (!bound) {
			session.send(p.response({command_status: smpp.ESME_RINVBNDSTS}));
			return;
		}
		const id = String(nextMessageID++);
		const octets = p.message_payload || p.short_message;
		emit({
			event: 'submit_sm', message_id: id,
			source: p.source_addr, source_ton: p.source_addr_ton, source_npi: p.source_addr_npi,
			destination: p.destination_addr, dest_ton: p.dest_addr_ton, dest_npi: p.dest_addr_npi,
			data_coding: p.data_coding, esm_class: p.esm_class,
			registered_delivery: p.registered_delivery,
			short_message_hex: hex(p.short_message),
			message_payload_hex: hex(p.message_payload),
			node_text: nodeText(p, octets)
		});
		session.send(p.response({message_id: id}));
	});

	session.on('enquire_link', function(p) {
		emit({event: 'enquire_link', sequence: p.sequence_number});
		session.send(p.response());
	});

	session.on('unbind', function(p) {
		emit({event: 'unbind', bound: bound});
		bound = false;
		if (delivering === session) {
			delivering = null;
		}
		session.send(p.response(), function() {
			session.close();
		});
	});

	// node-smpp answers nothing by itself: refuse what this SMSC does not
	// serve, as SMPP 3.4 §4.3 asks.
	session.on('pdu', function(p) {
		if (p.isResponse() || session.listenerCount(p.command) > 0) {
			return;
		}
		emit({event: 'refused', command: p.command, command_id: p.command_id});
		session.send(p.response({command_status: p.command === 'unknown' ? smpp.ESME_RINVCMDID : smpp.ESME_RINVBNDSTS}));
	});

	session.on('error', function(e) {
		emit({event: 'error', err: String(e && e.message || e)});
	});
	session.on('close', function() {
		if (delivering === session) {
			delivering = null;
		}
		emit({event: 'close', bound: bound});
	});
});

server.on('error', function(e) {
	emit({event: 'error', err: String(e && e.message || e)});
	process.exit(1);
});

server.listen(port, '127.0.0.1', function() {
	process.stdout.write(server.address().port + '\n');
});

function command(line) {
	let c;
	try {
		c = JSON.parse(line);
	} catch (e) {
		emit({event: 'error', err: 'bad command: ' + e.message});
		return;
	}
	const s = delivering;
	if (!s) {
		emit({event: 'error', id: c.id, err: 'no bound receiver'});
		return;
	}
	if (c.cmd === 'enquire_link') {
		s.enquire_link({}, function(r) {
			emit({event: 'enquire_link_resp', id: c.id, command_status: r.command_status});
		});
		return;
	}
	const opts = {
		source_addr_ton: c.from_ton || 0, source_addr_npi: c.from_npi || 0, source_addr: c.from || '',
		dest_addr_ton: c.to_ton || 0, dest_addr_npi: c.to_npi || 0, destination_addr: c.to || '',
		esm_class: c.esm_class || 0,
		data_coding: c.data_coding === undefined ? null : c.data_coding
	};
	if (c.receipted_message_id !== undefined) {
		opts.receipted_message_id = c.receipted_message_id;
	}
	if (c.message_state !== undefined) {
		opts.message_state = c.message_state;
	}
	if (c.message_payload_hex !== undefined) {
		opts.message_payload = Buffer.from(c.message_payload_hex, 'hex');
	}
	if (c.cmd === 'data_sm') {
		s.data_sm(opts, function(r) {
			emit({event: 'data_sm_resp', id: c.id, command_status: r.command_status});
		});
		return;
	}
	if (c.short_message_hex !== undefined) {
		opts.short_message = Buffer.from(c.short_message_hex, 'hex');
	} else if (c.text !== undefined) {
		// node-smpp's own encoder: text, and a UDH whose 0x24/0x25 element
		// makes it pick its national language table.
		opts.short_message = c.udh_hex ? {udh: Buffer.from(c.udh_hex, 'hex'), message: c.text} : c.text;
	}
	s.deliver_sm(opts, function(r) {
		emit({event: 'deliver_sm_resp', id: c.id, command_status: r.command_status});
	});
}

const rl = readline.createInterface({input: process.stdin});
rl.on('line', function(line) {
	if (line.trim() !== '') {
		command(line);
	}
});
rl.on('close', function() {
	server.close();
	for (const s of server.sessions.slice()) {
		s.destroy();
	}
	process.exit(0);
});
