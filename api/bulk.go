package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/fhir"
	"contigo/records"
)

// FHIR Bulk Data Access (IG v2.0.0) $export: a ministry's warehouse or
// DHIS2 bridge kicks off an export of its country's records, polls its
// status URL, and downloads NDJSON files. Jobs and their output live in the
// database (records.ExportStore), so any replica answers; bulk_run.go runs
// them.

// DefaultExportExpiry is how long export output is kept after completion
// when Config.ExportExpiry is zero.
const DefaultExportExpiry = 24 * time.Hour

// ndjson is the content type of the output files.
const ndjson = "application/fhir+ndjson"

// bulkRoutes registers the kick-off, status and file routes of $export.
// Group ids are the hosted country codes: Group/CO is every record of CO.
func (s *Server) bulkRoutes(add func(method, path string, h echo.HandlerFunc)) {
	for _, m := range []string{"GET", "POST"} {
		add(m, "/$export", s.interaction("export", "E", permExport, s.handleExportKickoff("system")))
		add(m, "/Patient/$export", s.interaction("export", "E", permExport, s.handleExportKickoff("patient")))
		add(m, "/Group/:group/$export", s.interaction("export", "E", permExport, s.handleExportKickoff("group")))
	}
	add("GET", "/$export-status/:job", s.interaction("export-status", "R", permExport, s.handleExportStatus))
	add("DELETE", "/$export-status/:job", s.interaction("export-cancel", "D", permExport, s.handleExportCancel))
	add("GET", "/$export-file/:job/:file", s.interaction("export-file", "R", permExport, s.handleExportFile))
}

// bulkFile reports whether the request downloads an export file, whose
// clients ask for application/fhir+ndjson rather than FHIR JSON.
func bulkFile(c echo.Context) bool { return strings.Contains(c.Path(), "/$export-file/") }

// exportStore returns the store's export side: 501 if it has none.
func (s *Server) exportStore() (records.ExportStore, error) {
	xs, ok := s.records.Store().(records.ExportStore)
	if !ok {
		return nil, errorf(records.ErrNotSupported, "this store cannot run bulk exports")
	}
	return xs, nil
}

// exportParams are the kick-off parameters that this server supports.
type exportParams struct {
	types        []string
	since        time.Time
	outputFormat string
}

// handleExportKickoff serves GET and POST [base]/$export,
// [base]/Patient/$export and [base]/Group/{id}/$export: 202 with the status
// URL in Content-Location. Every record of the country is in the Patient
// compartment, so the three levels export the same data; Group/{cc} is the
// request's country, any other group is 404.
func (s *Server) handleExportKickoff(level string) echo.HandlerFunc {
	return func(c echo.Context) error {
		cc := country(c)
		if level == "group" {
			g := c.Param("group")
			if !strings.EqualFold(g, string(cc)) {
				return &records.FieldError{Field: "Group.id", Reason: fmt.Sprintf("no group %q here: the groups are the hosted countries, and this request's country is %s", g, cc), Kind: records.ErrNotFound}
			}
			level = "group/" + string(cc)
		}
		if err := exportHeaders(c); err != nil {
			return err
		}
		p, err := s.exportParams(c)
		if err != nil {
			return err
		}
		xs, err := s.exportStore()
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		s.sweepExports(ctx, xs, cc)
		now := s.now().UTC()
		cl := claims(c)
		j := records.ExportJob{
			ID: records.NewID(), Country: cc, Level: level, Types: p.types, Since: p.since,
			Request:   c.Scheme() + "://" + c.Request().Host + c.Request().URL.RequestURI(),
			Requester: cl.Subject, Role: string(cl.Role), Status: records.ExportAccepted,
			Created: now, Beat: now, Expires: now.Add(s.bulk.expiry + maxExportRun),
		}
		if err := xs.CreateExport(ctx, cc, j); err != nil {
			return fmt.Errorf("kick off export: %w", err)
		}
		s.bulk.start(xs, cc, j.ID)
		c.Response().Header().Set("Content-Location", base(c)+"/$export-status/"+j.ID)
		oo := Outcome(r4.IssueTypeInformational, "export accepted; poll the Content-Location URL", "")
		oo.Issue[0].Severity = r4.IssueSeverityInformation
		return writeJSON(c, http.StatusAccepted, oo)
	}
}

// exportHeaders checks the headers the Bulk Data IG requires of a kick-off.
func exportHeaders(c echo.Context) error {
	h := c.Request().Header
	if a := h.Get(echo.HeaderAccept); !strings.Contains(strings.ToLower(a), "application/fhir+json") {
		return &records.FieldError{Field: "Accept", Reason: "a $export kick-off needs Accept: application/fhir+json", Kind: records.ErrMalformed}
	}
	if !strings.Contains(strings.ToLower(h.Get("Prefer")), "respond-async") {
		return &records.FieldError{Field: "Prefer", Reason: "a $export kick-off needs Prefer: respond-async", Kind: records.ErrMalformed}
	}
	return nil
}

// exportParams reads the kick-off parameters from the query (GET) or a
// Parameters body (POST): 400 naming the parameter for anything this server
// does not support, rather than silently exporting more than was asked.
func (s *Server) exportParams(c echo.Context) (exportParams, error) {
	vals := url.Values{}
	if c.Request().Method == http.MethodPost {
		b, err := s.readBody(c)
		if err != nil {
			return exportParams{}, err
		}
		var body struct {
			ResourceType string `json:"resourceType"`
			Parameter    []struct {
				Name         string  `json:"name"`
				ValueString  *string `json:"valueString"`
				ValueInstant *string `json:"valueInstant"`
				ValueDate    *string `json:"valueDateTime"`
			} `json:"parameter"`
		}
		if err := fhir.CheckJSON(b, "Parameters"); err != nil {
			return exportParams{}, err
		}
		if err := json.Unmarshal(b, &body); err != nil || body.ResourceType != "Parameters" {
			return exportParams{}, &records.FieldError{Field: "Parameters", Reason: "a POST $export body must be a Parameters resource", Kind: records.ErrMalformed}
		}
		for i, p := range body.Parameter {
			var v *string
			for _, x := range []*string{p.ValueString, p.ValueInstant, p.ValueDate} {
				if x != nil {
					v = x
				}
			}
			if v == nil {
				return exportParams{}, &records.FieldError{Field: fmt.Sprintf("Parameters.parameter[%d]", i), Reason: "parameter " + p.Name + " has no valueString, valueInstant or valueDateTime", Kind: records.ErrMalformed}
			}
			vals.Add(p.Name, *v)
		}
	}
	for k, vs := range c.QueryParams() {
		vals[k] = append(vals[k], vs...)
	}
	var p exportParams
	var errs []error
	for k, vs := range vals {
		switch k {
		case "_outputFormat":
			p.outputFormat = vs[len(vs)-1]
			if !slices.Contains([]string{"application/fhir+ndjson", "application/ndjson", "ndjson"}, p.outputFormat) {
				errs = append(errs, &records.FieldError{Field: "_outputFormat", Reason: "only application/fhir+ndjson (or application/ndjson, ndjson) is supported", Kind: records.ErrMalformed})
			}
		case "_type":
			for _, v := range vs {
				for t := range strings.SplitSeq(v, ",") {
					t = strings.TrimSpace(t)
					if !fhir.Writable(t) {
						errs = append(errs, &records.FieldError{Field: "_type", Reason: fmt.Sprintf("resource type %q is not held here", t), Kind: records.ErrMalformed})
						continue
					}
					if !slices.Contains(p.types, t) {
						p.types = append(p.types, t)
					}
				}
			}
		case "_since":
			t, err := parseSince(vs[len(vs)-1])
			if err != nil {
				errs = append(errs, &records.FieldError{Field: "_since", Reason: "not a FHIR instant (e.g. 2026-01-31T00:00:00Z)", Kind: records.ErrMalformed})
			}
			p.since = t
		default:
			errs = append(errs, &records.FieldError{Field: k, Reason: "parameter not supported by this server's $export (supported: _type, _since, _outputFormat)", Kind: records.ErrMalformed})
		}
	}
	slices.Sort(p.types)
	if err := errors.Join(errs...); err != nil {
		return exportParams{}, err
	}
	return p, nil
}

// handleExportStatus serves GET $export-status/{job}: 202 with X-Progress
// and Retry-After while running, 200 with the manifest when complete, 500
// with an OperationOutcome if it failed. A job whose runner stopped beating
// is taken over here, by whichever replica is polled.
func (s *Server) handleExportStatus(c echo.Context) error {
	xs, j, err := s.exportJob(c)
	if err != nil {
		return err
	}
	switch j.Status {
	case records.ExportCompleted:
		return c.JSON(http.StatusOK, s.manifest(c, j))
	case records.ExportFailed:
		return writeJSON(c, http.StatusInternalServerError, Outcome(r4.IssueTypeException, "export failed: "+j.Error, ""))
	}
	if s.now().Sub(j.Beat) > s.bulk.stale {
		s.bulk.recover(xs, j)
	}
	h := c.Response().Header()
	h.Set("X-Progress", fmt.Sprintf("%s: %d records read", j.Status, j.Persons))
	h.Set("Retry-After", "2")
	return c.NoContent(http.StatusAccepted)
}

// exportJob reads the job of the URL from the request's country: 404 if
// there is none (or it is another country's).
func (s *Server) exportJob(c echo.Context) (records.ExportStore, records.ExportJob, error) {
	xs, err := s.exportStore()
	if err != nil {
		return nil, records.ExportJob{}, err
	}
	j, err := xs.Export(c.Request().Context(), country(c), c.Param("job"))
	if err != nil {
		return nil, records.ExportJob{}, err
	}
	if j.Country != country(c) || !j.Expires.After(s.now()) {
		return nil, records.ExportJob{}, errorf(records.ErrNotFound, "no export %s", j.ID)
	}
	return xs, j, nil
}

// manifestOutput is one file of the manifest.
type manifestOutput struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int64  `json:"count"`
}

// exportManifest is the body of a completed status request.
type exportManifest struct {
	TransactionTime     string           `json:"transactionTime"`
	Request             string           `json:"request"`
	RequiresAccessToken bool             `json:"requiresAccessToken"`
	Output              []manifestOutput `json:"output"`
	Error               []manifestOutput `json:"error"`
}

func (s *Server) manifest(c echo.Context, j records.ExportJob) exportManifest {
	m := exportManifest{
		TransactionTime: j.Transaction.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Request: j.Request,
		RequiresAccessToken: true, Output: []manifestOutput{}, Error: []manifestOutput{},
	}
	for _, o := range j.Outputs {
		m.Output = append(m.Output, manifestOutput{Type: o.Type, URL: base(c) + "/$export-file/" + j.ID + "/" + o.Type + ".ndjson", Count: o.Count})
	}
	return m
}

// handleExportCancel serves DELETE $export-status/{job}: the job and its
// files are removed (202); a runner notices at its next beat and stops.
func (s *Server) handleExportCancel(c echo.Context) error {
	xs, j, err := s.exportJob(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := xs.DeleteExport(ctx, j.Country, j.ID); err != nil {
		return fmt.Errorf("cancel export: %w", err)
	}
	if err := s.records.Store().Release(ctx, j.Country, exportClaims, j.ID, j.Owner); err != nil {
		s.log.WarnContext(ctx, "release export claim", "job", j.ID, "err", err)
	}
	oo := Outcome(r4.IssueTypeInformational, "export cancelled and its files removed", "")
	oo.Issue[0].Severity = r4.IssueSeverityInformation
	return writeJSON(c, http.StatusAccepted, oo)
}

// handleExportFile serves GET $export-file/{job}/{Type}.ndjson from the
// database, one chunk at a time, as application/fhir+ndjson.
func (s *Server) handleExportFile(c echo.Context) error {
	xs, j, err := s.exportJob(c)
	if err != nil {
		return err
	}
	typ, ok := strings.CutSuffix(c.Param("file"), ".ndjson")
	i := slices.IndexFunc(j.Outputs, func(o records.ExportOutput) bool { return o.Type == typ })
	if !ok || j.Status != records.ExportCompleted || i < 0 {
		return errorf(records.ErrNotFound, "no file %s in export %s", c.Param("file"), j.ID)
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, ndjson)
	w.WriteHeader(http.StatusOK)
	// The request's deadline bounds a request's work, not a download of
	// many megabytes; a client that hangs up fails the next write.
	ctx := context.WithoutCancel(c.Request().Context())
	return xs.EachExportChunk(ctx, j.Country, j.ID, j.Attempts, typ, func(b []byte) error {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("write export file: %w", err)
		}
		return nil
	})
}
