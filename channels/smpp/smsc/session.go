package smsc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/izin/izin/channels/smpp/pdu"
)

var errClosed = errors.New("smsc: connection closed")

// session is one ESME connection.
type session struct {
	srv *Server
	nc  net.Conn

	wmu sync.Mutex

	mu       sync.Mutex
	mode     string // "" until bound
	systemID string
	since    time.Time
	seq      uint32
	pending  map[uint32]chan pdu.PDU

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

func newSession(s *Server, nc net.Conn) *session {
	return &session{srv: s, nc: nc, pending: make(map[uint32]chan pdu.PDU), done: make(chan struct{})}
}

func (ss *session) close() {
	ss.closeOnce.Do(func() {
		close(ss.done)
		ss.nc.Close()
	})
}

func (ss *session) info() (BindInfo, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.mode == "" {
		return BindInfo{}, false
	}
	return BindInfo{SystemID: ss.systemID, Mode: ss.mode, Remote: ss.nc.RemoteAddr().String(), Since: ss.since}, true
}

func (ss *session) send(p pdu.PDU) error {
	b, err := pdu.Marshal(p)
	if err != nil {
		return err
	}
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	ss.nc.SetWriteDeadline(time.Now().Add(ss.srv.cfg.RespTimeout))
	if _, err := ss.nc.Write(b); err != nil {
		ss.close()
		return errClosed
	}
	return nil
}

// request sends p and waits for its response.
func (ss *session) request(ctx context.Context, p pdu.PDU) (pdu.PDU, error) {
	ch := make(chan pdu.PDU, 1)
	ss.mu.Lock()
	ss.seq++
	if ss.seq > 0x7FFFFFFF { // SMPP 3.4 §5.1.4
		ss.seq = 1
	}
	seq := ss.seq
	ss.pending[seq] = ch
	ss.mu.Unlock()
	defer func() {
		ss.mu.Lock()
		delete(ss.pending, seq)
		ss.mu.Unlock()
	}()
	p.Hdr().Sequence = seq
	if err := ss.send(p); err != nil {
		return nil, err
	}
	t := time.NewTimer(ss.srv.cfg.RespTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r, nil
	case <-ss.done:
		return nil, errClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, fmt.Errorf("smsc: no %v in time", p.CommandID().Response())
	}
}

func (ss *session) serve() {
	defer func() {
		ss.close()
		ss.wg.Wait()
		ss.srv.remove(ss)
	}()
	if iv := ss.srv.cfg.EnquireLink; iv > 0 {
		ss.wg.Go(func() { ss.keepAlive(iv) })
	}
	for {
		raw, err := pdu.ReadPDU(ss.nc, 0)
		if err != nil {
			var pe *pdu.Error
			if errors.As(err, &pe) {
				ss.send(&pdu.GenericNack{Header: pdu.Header{Status: pe.Status, Sequence: pe.Sequence}})
			}
			return
		}
		p, err := pdu.Unmarshal(raw)
		if err != nil {
			ss.reject(err)
			continue
		}
		ss.srv.count(p.CommandID())
		if !ss.handle(p) {
			return
		}
	}
}

func (ss *session) keepAlive(iv time.Duration) {
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ss.done:
			return
		case <-t.C:
			if _, ok := ss.info(); ok {
				ss.request(context.Background(), &pdu.EnquireLink{})
			}
		}
	}
}

func (ss *session) reject(err error) {
	var pe *pdu.Error
	if !errors.As(err, &pe) || pe.ID.IsResponse() {
		ss.srv.log.Warn("smsc invalid pdu", "err", err)
		return
	}
	var resp pdu.PDU = &pdu.GenericNack{}
	if !errors.Is(err, pdu.ErrUnknownCommand) && !errors.Is(err, pdu.ErrCommandLength) {
		if r, ok := pdu.New(pe.ID.Response()); ok {
			resp = r
		}
	}
	*resp.Hdr() = pdu.Header{Status: pe.Status, Sequence: pe.Sequence}
	ss.send(resp)
}

// handle answers one PDU; false ends the session.
func (ss *session) handle(p pdu.PDU) bool {
	h := p.Hdr()
	if p.CommandID().IsResponse() {
		ss.mu.Lock()
		ch, ok := ss.pending[h.Sequence]
		delete(ss.pending, h.Sequence)
		ss.mu.Unlock()
		if ok {
			ch <- p
		} else {
			ss.srv.log.Warn("smsc response for unknown sequence", "command", p.CommandID().String(), "sequence", h.Sequence)
		}
		return true
	}
	ss.mu.Lock()
	mode := ss.mode
	ss.mu.Unlock()
	switch p := p.(type) {
	case *pdu.Bind:
		return ss.bind(p, mode)
	case *pdu.EnquireLink:
		ss.send(&pdu.EnquireLinkResp{Header: pdu.Header{Sequence: h.Sequence}})
	case *pdu.Unbind:
		ss.send(&pdu.UnbindResp{Header: pdu.Header{Sequence: h.Sequence}})
		return false
	case *pdu.SubmitSM:
		// SMPP 3.4 §2.3: only a transmitter or transceiver may submit.
		if mode == "" || mode == "receiver" {
			ss.send(&pdu.SubmitSMResp{Header: pdu.Header{Status: pdu.ESME_RINVBNDSTS, Sequence: h.Sequence}})
			return true
		}
		ss.wg.Go(func() { ss.submit(p) })
	default:
		ss.send(&pdu.GenericNack{Header: pdu.Header{Status: pdu.ESME_RINVCMDID, Sequence: h.Sequence}})
	}
	return true
}

func (ss *session) bind(b *pdu.Bind, mode string) bool {
	resp := &pdu.BindResp{Type: b.Type.Response(), Header: pdu.Header{Sequence: b.Sequence}, SystemID: ss.srv.cfg.SystemID}
	if mode != "" {
		resp.Status = pdu.ESME_RALYBND // SMPP 3.4 §4.1: one bind per session
		ss.send(resp)
		return true
	}
	pw, ok := ss.srv.account(b.SystemID)
	switch {
	case !ok:
		resp.Status = pdu.ESME_RINVSYSID
	case pw != b.Password:
		resp.Status = pdu.ESME_RINVPASWD
	}
	if resp.Status != pdu.ESME_ROK {
		ss.srv.log.Info("smsc bind refused", "system_id", b.SystemID, "status", resp.Status.String())
		ss.send(resp)
		return false
	}
	resp.TLVs.SetUint8(pdu.TagSCInterfaceVersion, pdu.InterfaceVersion34)
	m := map[pdu.CommandID]string{pdu.BindTransceiverID: "transceiver", pdu.BindReceiverID: "receiver", pdu.BindTransmitterID: "transmitter"}[b.Type]
	ss.mu.Lock()
	ss.mode, ss.systemID, ss.since = m, b.SystemID, time.Now()
	ss.mu.Unlock()
	ss.srv.log.Info("smsc bound", "system_id", b.SystemID, "mode", m)
	ss.send(resp)
	return true
}

func (ss *session) submit(sm *pdu.SubmitSM) {
	srv := ss.srv
	srv.mu.Lock()
	delay := srv.respDelay
	st := pdu.ESME_ROK
	if srv.throttle > 0 {
		srv.throttle--
		st = pdu.ESME_RTHROTTLED
	}
	receipts := srv.receipts
	srv.mu.Unlock()

	rec := Submitted{
		From: sm.Source.Addr, To: sm.Dest.Addr, DataCoding: sm.DataCoding, ESMClass: sm.ESMClass,
		RegisteredDelivery: sm.RegisteredDelivery, Status: st, Time: time.Now(),
	}
	ss.mu.Lock()
	rec.SystemID = ss.systemID
	ss.mu.Unlock()
	m, err := pdu.Decode(sm.DataCoding, sm.ESMClass, sm.Payload(), pdu.DecodeOptions{})
	rec.Text, rec.DecodeErr = m.Text, err
	if c, ok := m.UDH.Concat(); ok {
		rec.Concat, rec.HasConcat = c, true
	} else if c, ok := pdu.SARConcat(sm.TLVs); ok {
		rec.Concat, rec.HasConcat = c, true
	}
	if st == pdu.ESME_ROK {
		rec.MessageID = strconv.FormatUint(srv.msgID.Add(1), 16)
	}
	srv.mu.Lock()
	idx := len(srv.submitted)
	srv.submitted = append(srv.submitted, rec)
	srv.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ss.done:
			return // the link died first: never answered
		}
	}
	if ss.send(&pdu.SubmitSMResp{Header: pdu.Header{Status: st, Sequence: sm.Sequence}, MessageID: rec.MessageID}) != nil {
		return
	}
	srv.mu.Lock()
	srv.submitted[idx].Answered = true
	srv.mu.Unlock()
	// Bits 1–0 of registered_delivery ask for a receipt (SMPP 3.4 §5.2.17).
	if st == pdu.ESME_ROK && receipts && sm.RegisteredDelivery&0x03 != 0 {
		ss.receipt(rec)
	}
}

// receipt sends a delivery receipt in the Appendix B text format with the
// receipted_message_id and message_state TLVs (SMPP 3.4 §5.3.2.12, §5.3.2.35).
func (ss *session) receipt(rec Submitted) {
	now := time.Now().Format("0601021504")
	text := fmt.Sprintf("id:%s sub:001 dlvrd:001 submit date:%s done date:%s stat:DELIVRD err:000 text:", rec.MessageID, rec.Time.Format("0601021504"), now)
	d := &pdu.DeliverSM{
		Source:       pdu.Address{TON: 1, NPI: 1, Addr: rec.To},
		Dest:         pdu.Address{Addr: rec.From},
		ESMClass:     pdu.ESMClassDeliveryReceipt,
		ShortMessage: []byte(text),
	}
	d.TLVs.SetCString(pdu.TagReceiptedMessageID, rec.MessageID)
	d.TLVs.SetUint8(pdu.TagMessageState, byte(pdu.StateDelivered))
	target := ss
	if mode, _ := ss.info(); mode.Mode == "transmitter" {
		if target = ss.srv.receiver(); target == nil {
			return
		}
	}
	if _, err := target.request(context.Background(), d); err != nil {
		ss.srv.log.Warn("smsc receipt not acknowledged", "err", err)
	}
}
