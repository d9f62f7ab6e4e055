package mongo

import (
	"context"
	"fmt"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// EachNutrition calls fn with the id and nutrition state (records.Person.Nutrition)
// of every person of cc that has one, until fn returns an error, which it
// returns. For indicators and the follow-up scheduler. It reads the small
// projection documents (projection.go), not the records.
func (s *Store) EachNutrition(ctx context.Context, cc records.Country, fn func(id string, state []byte) error) (err error) {
	defer s.observe("each_nutrition", time.Now(), &err)
	proj := bson.D{{Key: "version", Value: 1}, {Key: "nutrition", Value: 1}, {Key: "pages", Value: 1}, {Key: "splice", Value: 1}, {Key: "tail", Value: 1}}
	err = s.eachProjection(ctx, cc, bson.D{}, proj, func(d *projDoc) error {
		if d.Nutrition == "" {
			return nil
		}
		st, err := s.stateOf(ctx, cc, d)
		if err != nil {
			return err
		}
		return fn(d.ID, st)
	})
	if err != nil {
		return fmt.Errorf("nutrition states: %w", err)
	}
	return nil
}

// EachNutritionRecord is EachNutrition reading the records themselves (the
// source of truth: every record is read from the log).
func (s *Store) EachNutritionRecord(ctx context.Context, cc records.Country, fn func(id string, state []byte) error) (err error) {
	defer s.observe("each_nutrition_record", time.Now(), &err)
	var ids []string
	if err := s.eachHead(ctx, cc, bson.D{}, func(h *headDoc) bool { ids = append(ids, h.ID); return true }); err != nil {
		return fmt.Errorf("nutrition states: %w", err)
	}
	for _, id := range ids {
		p, err := s.Person(ctx, cc, id)
		if err != nil {
			return fmt.Errorf("nutrition states: %w", err)
		}
		if len(p.Nutrition) == 0 {
			continue
		}
		if err := fn(id, p.Nutrition); err != nil {
			return err
		}
	}
	return nil
}
